"""领导批示: the instructions leaders write on an issue, and the follow-up (批示落实) of those
that ask for action."""

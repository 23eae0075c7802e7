"""The inbox (待办, 已办, 我发起的, the clerk's copies), who holds a brief, due dates,
reminders and delegation (委托): the SQL twins of the policy and their operations."""

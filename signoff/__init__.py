"""签发单 and 代签: the sign-off sheet of a brief (HTML and PDF, filed on signing) and the
paper sign-offs a secretary records for the leaders they act for."""

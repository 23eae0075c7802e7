"""The named paragraph styles Canyue writes into an exported .docx. The reader skips the
parts of the printed page that are not the brief's text (masthead, 期号 line, 专报 line,
colophon, folio) and takes the title and author line from theirs."""

MASTHEAD = "Canyue Masthead"
SPECIAL_REPORT = "Canyue Special Report"
ISSUE_LINE = "Canyue Issue Line"
HOSTS_LINE = "Canyue Hosts Line"
RED_RULE = "Canyue Red Rule"
COPY_NUMBER = "Canyue Copy Number"
TITLE = "Canyue Title"
AUTHOR = "Canyue Author"
CAPTION = "Canyue Caption"
FIGURE = "Canyue Figure"  # the paragraph holding a picture
TABLE_TEXT = "Canyue Table Text"
COLOPHON = "Canyue Colophon"
FOLIO = "Canyue Folio"
SPECIMEN = "Canyue Specimen"

# Printed around the brief, never part of its text.
FURNITURE = frozenset({MASTHEAD, SPECIAL_REPORT, ISSUE_LINE, HOSTS_LINE, RED_RULE, COPY_NUMBER, COLOPHON,
                       FOLIO, SPECIMEN})

# The official faces Word and WPS on an office PC know by these names (configurable:
# CANYUE_WORD_FONTS); the free faces stand in for them only where they are missing.
DEFAULT_FONTS = {
    "fangsong": "仿宋_GB2312",
    "title": "方正小标宋简体",
    "hei": "黑体",
    "kai": "楷体_GB2312",
}

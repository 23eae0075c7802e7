"""The archival PDF's metadata: the document information dictionary and the XMP packet, kept
equal as PDF/A asks (ISO 19005-3, 6.6: Title = dc:title, Author = dc:creator, Subject =
dc:description, Keywords = pdf:Keywords, Creator = xmp:CreatorTool, Producer = pdf:Producer,
CreationDate = xmp:CreateDate, ModDate = xmp:ModifyDate).

WeasyPrint 70 writes an XMP packet with neither dates nor identifiers; the renderer replaces
it with the packet made here (`xmp_packet`), which adds

- xmp:CreateDate, xmp:ModifyDate and xmp:MetadataDate (and CreationDate / ModDate in the
  information dictionary, the same instants);
- xmpMM:DocumentID, the same for every rendition of an issue (`issue_document_id`: derived
  from the 全宗号, the series and the issue's numbers, so the master, its numbered copies and
  the same issue rendered again on another installation share it), and xmpMM:InstanceID,
  new for each rendition (each render; each numbered copy derives its own from the master's);
- dc:subject (one entry per keyword) and pdf:Keywords, from the brief file's keywords;
- the custom entries of the information dictionary (the audit head before publication, a
  copy's 份号) as properties of Canyue's own schema, declared in the packet itself through
  a PDF/A extension schema (pdfaExtension:schemas, ISO 19005-1 6.7.8), as PDF/A requires of
  any property outside the predefined schemas;
- pdfaid:part 3 and the conformance level claimed.

The packet is written uncompressed, so that tools that do not parse PDF (grep, exiftool's
scan) find it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "CANYUE_NS",
    "CUSTOM_PROPERTIES",
    "DocumentIdentity",
    "copy_instance_id",
    "issue_document_id",
    "pdf_date",
    "xmp_date",
    "write_metadata",
    "xmp_packet",
]

CANYUE_NS = "https://canyue.example.org/ns/archival/1.0/"
CANYUE_PREFIX = "canyue"
# Namespace of the identifiers (uuid5): issue_document_id and copy_instance_id.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, CANYUE_NS)

# Information-dictionary names -> (XMP property of Canyue's schema, its description).
CUSTOM_PROPERTIES: dict[str, tuple[str, str]] = {
    "canyue-audit-head": (
        "auditHead",
        "SHA-256 (hex) of the brief's audit-trail head just before the move that made this file "
        "(publication or a confirmed correction); Canyue's `audit verify` compares it with that event.",
    ),
    "canyue-copy": (
        "copyNumber",
        "The number of this copy (份号), six digits; absent on the archival master.",
    ),
}


@dataclass(frozen=True)
class DocumentIdentity:
    document_id: str  # "uuid:…", the same for every rendition of the issue
    instance_id: str  # "uuid:…", this rendition
    created: datetime  # aware
    modified: datetime  # aware

    @classmethod
    def new(cls, document_id: str | None = None, created: datetime | None = None) -> DocumentIdentity:
        """A fresh rendition: a new InstanceID; the document's own ID and creation date if given."""
        now = datetime.now(UTC).replace(microsecond=0)
        return cls(document_id or f"uuid:{uuid.uuid4()}", f"uuid:{uuid.uuid4()}",
                   (created or now).replace(microsecond=0), now)


def issue_document_id(fonds: str, series: str, sequence: str, total: int) -> str:
    """The issue's DocumentID: 全宗号, series name, number sequence and 总期号 identify an issue
    (the 总期号 is unique within a series' sequence), whatever installation renders it."""
    return f"uuid:{uuid.uuid5(_ID_NAMESPACE, f'issue|{fonds}|{series}|{sequence}|{total}')}"


def copy_instance_id(master_instance_id: str, serial: str) -> str:
    """A numbered copy's InstanceID: derived from the master's, so stamping stays a pure function."""
    return f"uuid:{uuid.uuid5(_ID_NAMESPACE, f'copy|{master_instance_id}|{serial}')}"


def xmp_date(moment: datetime) -> str:
    """2026-11-20T09:30:00Z (ISO 8601, as XMP dates are), in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pdf_date(moment: datetime) -> str:
    """D:20261120093000Z (ISO 32000-1, 7.9.4), the same instant as xmp_date."""
    return moment.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ")


def _text(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def xmp_packet(
    *,
    identity: DocumentIdentity,
    title: str | None,
    authors: Sequence[str],
    description: str | None,
    keywords: Sequence[str],
    lang: str | None,
    producer: str,
    creator_tool: str,
    conformance: str,
    custom: Mapping[str, str],
) -> bytes:
    """The whole XMP packet (x:xmpmeta in an xpacket), UTF-8."""
    parts = [
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
        '<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">',
        f"<pdfaid:part>3</pdfaid:part><pdfaid:conformance>{_text(conformance)}</pdfaid:conformance>",
        "</rdf:Description>",
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<dc:format>application/pdf</dc:format>",
    ]
    if title:
        parts.append(f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{_text(title)}</rdf:li></rdf:Alt>'
                     "</dc:title>")
    if authors:
        items = "".join(f"<rdf:li>{_text(a)}</rdf:li>" for a in authors)
        parts.append(f"<dc:creator><rdf:Seq>{items}</rdf:Seq></dc:creator>")
    if description:
        parts.append(f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{_text(description)}</rdf:li>'
                     "</rdf:Alt></dc:description>")
    if keywords:
        items = "".join(f"<rdf:li>{_text(k)}</rdf:li>" for k in keywords)
        parts.append(f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>")
    if lang:
        parts.append(f"<dc:language><rdf:Bag><rdf:li>{_text(lang)}</rdf:li></rdf:Bag></dc:language>")
    parts += [
        "</rdf:Description>",
        '<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">',
        f"<pdf:Producer>{_text(producer)}</pdf:Producer>",
    ]
    if keywords:
        parts.append(f"<pdf:Keywords>{_text(', '.join(keywords))}</pdf:Keywords>")
    parts += [
        "</rdf:Description>",
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">',
        f"<xmp:CreatorTool>{_text(creator_tool)}</xmp:CreatorTool>",
        f"<xmp:CreateDate>{xmp_date(identity.created)}</xmp:CreateDate>",
        f"<xmp:ModifyDate>{xmp_date(identity.modified)}</xmp:ModifyDate>",
        f"<xmp:MetadataDate>{xmp_date(identity.modified)}</xmp:MetadataDate>",
        "</rdf:Description>",
        '<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">',
        f"<xmpMM:DocumentID>{_text(identity.document_id)}</xmpMM:DocumentID>",
        f"<xmpMM:InstanceID>{_text(identity.instance_id)}</xmpMM:InstanceID>",
        "</rdf:Description>",
    ]
    values = {CUSTOM_PROPERTIES[k][0]: v for k, v in custom.items() if k in CUSTOM_PROPERTIES}
    if values:
        parts.append(f'<rdf:Description rdf:about="" xmlns:{CANYUE_PREFIX}="{CANYUE_NS}">')
        parts += [f"<{CANYUE_PREFIX}:{name}>{_text(value)}</{CANYUE_PREFIX}:{name}>"
                  for name, value in values.items()]
        parts.append("</rdf:Description>")
    # No padding: the packet is never edited in place (a copy's incremental update writes its
    # own), and a print run of 2,000 copies would store 2,000 paddings.
    parts += [_extension_schema(), "</rdf:RDF>", "</x:xmpmeta>", '<?xpacket end="r"?>']
    return "\n".join(parts).encode("utf-8")


def _extension_schema() -> str:
    """Canyue's schema declared for PDF/A: its namespace, prefix and every property's type."""
    properties = "".join(
        '<rdf:li rdf:parseType="Resource">'
        f"<pdfaProperty:name>{name}</pdfaProperty:name>"
        "<pdfaProperty:valueType>Text</pdfaProperty:valueType>"
        "<pdfaProperty:category>internal</pdfaProperty:category>"
        f"<pdfaProperty:description>{_text(description)}</pdfaProperty:description>"
        "</rdf:li>"
        for name, description in CUSTOM_PROPERTIES.values()
    )
    return (
        '<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
        'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" '
        'xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
        "<pdfaExtension:schemas><rdf:Bag>"
        '<rdf:li rdf:parseType="Resource">'
        "<pdfaSchema:schema>Canyue archival record</pdfaSchema:schema>"
        f"<pdfaSchema:namespaceURI>{CANYUE_NS}</pdfaSchema:namespaceURI>"
        f"<pdfaSchema:prefix>{CANYUE_PREFIX}</pdfaSchema:prefix>"
        f"<pdfaSchema:property><rdf:Seq>{properties}</rdf:Seq></pdfaSchema:property>"
        "</rdf:li>"
        "</rdf:Bag></pdfaExtension:schemas>"
        "</rdf:Description>"
    )


def write_metadata(pdf: Any, metadata: Any, identity: DocumentIdentity, custom: Mapping[str, str],
                   conformance: str, creator_tool: str = "Canyue") -> None:
    """In a WeasyPrint finisher: the dates and Creator in the information dictionary, and the
    XMP packet in place of WeasyPrint's (`metadata`: the document's DocumentMetadata)."""
    import pydyf
    from weasyprint import __version__

    producer = f"WeasyPrint {__version__}"
    pdf.info["Producer"] = pydyf.String(producer)
    pdf.info["Creator"] = pydyf.String(creator_tool)
    pdf.info["CreationDate"] = pydyf.String(pdf_date(identity.created))
    pdf.info["ModDate"] = pydyf.String(pdf_date(identity.modified))
    packet = xmp_packet(
        identity=identity, title=metadata.title, authors=list(metadata.authors),
        description=metadata.description, keywords=list(metadata.keywords), lang=metadata.lang,
        producer=producer, creator_tool=creator_tool, conformance=conformance, custom=custom,
    )
    stream = pydyf.Stream([packet], pydyf.Dictionary({"Type": "/Metadata", "Subtype": "/XML"}))
    if "Metadata" in pdf.catalog:  # WeasyPrint's packet: its object now holds ours
        reference = pdf.catalog["Metadata"]
        reference = reference.decode() if isinstance(reference, bytes) else str(reference)
        stream = pdf.objects[int(reference.split()[0])]
        stream.stream, stream.compress = [packet], False
    else:
        pdf.add_object(stream)
        pdf.catalog["Metadata"] = stream.reference

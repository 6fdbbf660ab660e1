"""The canned answers as nginx's gzip filter sends them, compressed once at start.

Policy-free: which answers are compressed and how is ``http.gzip``'s; this only lays out, for
each canned path whose file it compresses, the GET and HEAD heads (split around ``Date`` as
``site.Canned`` is) and the chunked body.
"""

from __future__ import annotations

from collections.abc import Mapping

from honeypods.web.http import gzip, make_head
from honeypods.web.site import Canned, StaticFile


def gzip_table(
    files: Mapping[str, StaticFile], canned: Mapping[str, Canned], version: str
) -> dict[str, tuple[Canned, Canned]]:
    """URI path -> the compressed canned answers (GET, HEAD), for the canned paths whose file
    nginx's gzip filter compresses."""
    table: dict[str, tuple[Canned, Canned]] = {}
    marker = "\x00"
    for path in canned:
        found = files.get(path) or files.get(path + "index.html")
        if found is None or not gzip.response_eligible(200, found.content_type, len(found.body)):
            continue
        plain = [
            ("Content-Type", found.content_type),
            ("Last-Modified", found.last_modified),
            ("ETag", found.etag),
        ]
        body = gzip.chunked(gzip.compress(found.body))
        variants = []
        for head_only in (False, True):
            headers = gzip.headers_for(plain, head_only=head_only)
            parts = []
            for keep in (True, False):
                head = make_head(200, headers, server=version, date=marker, keepalive=keep)
                parts.append(head.partition(marker.encode("latin-1")))
            variants.append(Canned(parts[0][0], parts[0][2], parts[1][2], body))
        table[path] = (variants[0], variants[1])
    return table

"""Links to outside pages built from data (spec references): only web addresses become hrefs.

The spec schema already refuses anything else, but the site checks again, with the same test, so a
spec or object that bypassed validation still cannot put a `javascript:` or `data:` link on a page.
Jinja's autoescaping then escapes the address inside the attribute.
"""

from __future__ import annotations

from urllib.parse import quote

from ..specs.schema import is_doi, is_web_url

DOI_RESOLVER = "https://doi.org/"


def safe_url(url: object) -> str:
    """`url` if it is an http(s) address with a host, else "" (the template then renders no link)."""
    return url if isinstance(url, str) and is_web_url(url) else ""


def doi_url(doi: object) -> str:
    """The doi.org link of a bare DOI, its suffix percent-encoded; "" if `doi` is not one."""
    return safe_url(f"{DOI_RESOLVER}{quote(doi, safe='/:;()')}") if is_doi(doi) else ""

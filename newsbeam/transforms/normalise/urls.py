"""URL canonicalisation, so the same article reached through different links gets one identity."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that track the reader, not the content.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "matomo_", "hsa_", "_hs")
_TRACKING_NAMES = frozenset(
    "fbclid gclid dclid gbraid wbraid msclkid yclid igshid mkt_tok ocid cmpid ncid xtor "
    "at_medium at_campaign s_cid ref_src __twitter_impression".split()
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str | None) -> str | None:
    """Canonical form of an http(s) URL: scheme and host lower-case, default port, fragment and tracking parameters dropped.

    Returns None for anything that is not an absolute http(s) URL.
    """
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/%:@!$&'()*+,;=-._~") or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))

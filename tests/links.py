"""Signed links as a test breaks them."""


def tampered(link: str) -> str:
    """`link` with the first character of its signature changed, so the signature no longer
    matches. Changing its last characters will not always do: the last base64 character of a
    20-byte HMAC carries only 4 of its 6 bits, so replacing the last two with "zz" left the
    signature as it was about once in 1,000 runs (a CI run saw a "tampered" link answer 200)."""
    head, dot, signature = link.rpartition(".")
    assert dot and signature, f"not a signed link: {link}"
    changed = "B" if signature[0] == "A" else "A"
    return f"{head}.{changed}{signature[1:]}"

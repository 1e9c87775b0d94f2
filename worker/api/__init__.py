"""The Media Intelligence API: the v2 signer, the HTTP client behind its seam, its replies."""

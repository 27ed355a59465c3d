"""Applications on top of the library: the demo (`dmr-jrg demo`) and the paragraph-search web app (`dmr-jrg app`).

Nothing in the library imports this package.
"""

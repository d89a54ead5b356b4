"""Interoperability: opencram's events in other systems' formats.

``cot``: Cursor on Target 2.0 XML (tracks, impact and origin ellipses, warning zones and
alerts); ``tak``: delivery of CoT to a TAK server with pytak. See docs/interop-cot.md.
"""

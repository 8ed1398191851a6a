"""The common XMPP platform: the runtime that a device installs to speak OpenADR 2.0b and IEC 61850-8-2.

It stands alone: nothing here imports the modelling side of sgam. `xmpp` is the secured transport
(one connection per device), `services` and `datapoints` the protocol-neutral API for applications,
`conversion` the data name conversion engine, and `openadr` and `iec61850` the two bindings.
"""

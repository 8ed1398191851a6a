"""IEC 61850-8-2 style binding: ACSI services as XML over XMPP, hosting 7-420 DER data models.

* `cdc`       -- the IEC 61850-7-3 common data classes the models use;
* `datamodel` -- the data-model file format (pydantic) and the shipped DER models
  (`sgam/platform/models/der_battery.json`, `der_pv.json`);
* `acsi`      -- the ACSI messages and their XML (the project's own namespace, modelled on 8-2);
* `server`    -- the service logic of a server hosting a model (no network);
* `node`      -- server and client over the platform's XMPP Endpoint; the client implements the
  common services (request/reply, report/event, control/abort);
* `device`    -- a simulated DER behind a hosted model, for scenarios and tests;
* `__main__`  -- `python -m sgam.platform.iec61850 serve|check`: a DER server as a process.
"""

"""The bundled reference CSMS: OCPP 2.0.1 server, domain tables, REST API and live map."""

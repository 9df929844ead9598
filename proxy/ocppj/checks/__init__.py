"""The OCPP 2.0.1 rule groups, one `RuleGroup` class per module; `proxy.ocppj.rulesets` lists them."""

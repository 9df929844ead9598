"""The charger fleet simulator (`ocppscope simulate`, in progress): stations that behave like
real OCPP 2.0.1 chargers, including back-off and offline queueing."""

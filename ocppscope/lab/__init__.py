"""The lab: which `ocppscope` children make it up, and the supervisor that runs them."""

"""The seed guide's integration scenarios 1-5, run against a lab and verified from its database."""

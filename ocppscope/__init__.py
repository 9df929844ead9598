"""ocppscope's application layer: the command line, the lab supervisor, benchmarks and reports;
the only package that composes the proxy, the reference CSMS, the simulator, the scenarios and
the dashboards (docs/architecture.md)."""

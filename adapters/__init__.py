"""Everything that touches the outside world: databases, meters, brokers, files."""

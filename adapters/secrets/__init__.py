"""Key store: meter passwords and DLMS keys sealed with AES-GCM under a master key."""

"""Generated chaotic systems: candidates drawn from the registry, the chaos filter, registry entries."""

"""Model providers behind one small async contract (see `koarena.providers.base`)."""

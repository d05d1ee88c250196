"""Course tooling run by `make` (lock, benchmark, navigation, browser and stress checks); notebooks never import it."""

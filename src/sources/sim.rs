//! The drill source: observes the simulated world (being built).

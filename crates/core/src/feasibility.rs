//! RPO feasibility.

//! Inventory reconciliation.

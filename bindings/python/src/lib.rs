//! The python binding of Tessera (being built).

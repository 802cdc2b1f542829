//! The uniffi binding of Tessera (being built).

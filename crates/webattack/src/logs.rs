//! Access-log parsers (stub while the engine is built).

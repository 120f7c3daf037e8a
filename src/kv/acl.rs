//! The app's ACL user (filled in below).

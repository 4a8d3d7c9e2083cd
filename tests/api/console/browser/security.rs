//! The security checks of the issue, in Chromium.

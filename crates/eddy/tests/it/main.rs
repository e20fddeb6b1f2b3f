//! Public-API tests for the eddy facade.

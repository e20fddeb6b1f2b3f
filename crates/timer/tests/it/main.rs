//! Public-API tests of eddy-timer: the wheel against a model, the driver, and the futures.

mod bad_input;
mod driver;
mod futures;
mod support;
mod wheel_model;

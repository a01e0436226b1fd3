mod capture;
mod fixtures;
mod http;
mod ports;
mod server;
mod sx_mock;

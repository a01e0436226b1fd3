mod capture;
mod fixtures;
mod http;
mod server;
mod sx_mock;

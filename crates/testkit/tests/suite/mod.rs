mod capture;
mod expect;
mod fixtures;
mod http;
mod server;
mod sx_mock;

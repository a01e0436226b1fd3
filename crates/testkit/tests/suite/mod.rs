mod capture;
mod citations;
mod expect;
mod fixtures;
mod http;
mod ports;
mod server;
mod sx_mock;

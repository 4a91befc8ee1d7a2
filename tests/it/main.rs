
mod world;

//! `ebb replay`: what a recorded console showed, scrubbable and read-only. The player
//! rebuilds the model at any instant; playback and the bar are the viewer around it.

pub mod bar;
pub mod playback;
pub mod player;

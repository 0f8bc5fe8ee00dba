mod exec;
mod native;
mod slot_netns;

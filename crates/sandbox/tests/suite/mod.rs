mod native;
mod slot_netns;

mod audit;
mod policy;
mod scope;
mod skill;

mod audit;
mod scope;
mod skill;

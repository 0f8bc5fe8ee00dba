mod audit;
mod policy;
mod redact;
mod scope;
mod skill;

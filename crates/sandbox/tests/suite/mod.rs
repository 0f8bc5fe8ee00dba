mod native;

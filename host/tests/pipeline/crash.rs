//! `kill -9` of real worker processes mid-job: nothing lost, nothing posted twice.

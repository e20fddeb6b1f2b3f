//! eddy's selector: readiness events from epoll or kqueue.

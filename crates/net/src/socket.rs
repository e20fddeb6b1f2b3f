//! What every socket type shares: it is an `Async` of a std socket, in a field `io`.
//!
//! So its fd is the registered one, and most of its options and addresses are the std
//! socket's, handed on unchanged; the two macros here write those once for every type.

/// Implements `AsFd` and `AsRawFd` for each socket type listed: the fd of its `io` field.
macro_rules! impl_fd_traits {
    ($($ty:ty),+ $(,)?) => {$(
        impl ::std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                ::std::os::fd::AsFd::as_fd(&self.io)
            }
        }

        impl ::std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                ::std::os::fd::AsRawFd::as_raw_fd(&self.io)
            }
        }
    )+};
}
pub(crate) use impl_fd_traits;

/// Writes, inside a socket type's `impl`, methods that hand the call on to the std socket's
/// method of the same name (`self.io.get_ref().name(args)`). Each is listed with its doc
/// comment and signature, a `;` in place of the body.
macro_rules! forward_to_std {
    ($(
        $(#[$doc:meta])*
        pub fn $name:ident(&self $(, $arg:ident: $arg_ty:ty)* $(,)?) -> $ret:ty;
    )+) => {$(
        $(#[$doc])*
        pub fn $name(&self $(, $arg: $arg_ty)*) -> $ret {
            self.io.get_ref().$name($($arg),*)
        }
    )+};
}
pub(crate) use forward_to_std;

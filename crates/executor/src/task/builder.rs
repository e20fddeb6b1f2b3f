//! `TaskBuilder`: the options of one spawn.

/// Options for spawning one task; today its name.
///
/// ```
/// use eddy_executor::{TaskBuilder, CurrentThread};
///
/// let rt = CurrentThread::new();
/// let h = rt.handle().spawn_with(TaskBuilder::new().name("greeter"), async { "hi" });
/// assert_eq!(rt.tasks()[0].name.as_deref(), Some("greeter"));
/// assert_eq!(rt.block_on(h).unwrap(), "hi");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskBuilder<'a> {
    pub(crate) name: Option<&'a str>,
}

impl<'a> TaskBuilder<'a> {
    /// A builder with no options set.
    pub fn new() -> TaskBuilder<'a> {
        TaskBuilder { name: None }
    }

    /// Names the task; the name shows in [`TaskInfo`](crate::TaskInfo) (task dumps, debug reports).
    pub fn name(self, name: &'a str) -> TaskBuilder<'a> {
        TaskBuilder { name: Some(name) }
    }
}

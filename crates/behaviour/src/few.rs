//! A short list kept inline when it holds one element.
//!
//! Most rules keep at most one counter lane, one distinct count and one bucket per entity; a heap
//! allocation for each would cost more memory than the element itself and one more cache miss per
//! event.

use std::ops::{Deref, DerefMut};

/// None, one inline, or several on the heap.
#[derive(Debug, Clone)]
pub(crate) enum Few<T> {
    /// Empty.
    None,
    /// One element, inline.
    One(T),
    /// Two or more, on the heap.
    Many(Box<[T]>),
}

impl<T> Few<T> {
    /// `n` elements made by `make`.
    pub(crate) fn from_fn(n: usize, mut make: impl FnMut() -> T) -> Self {
        match n {
            0 => Few::None,
            1 => Few::One(make()),
            _ => Few::Many((0..n).map(|_| make()).collect()),
        }
    }

    /// Bytes held on the heap (beyond the inline size).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Few::Many(b) => b.len() * std::mem::size_of::<T>(),
            _ => 0,
        }
    }
}

impl<T> Deref for Few<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Few::None => &[],
            Few::One(x) => std::slice::from_ref(x),
            Few::Many(b) => b,
        }
    }
}

impl<T> DerefMut for Few<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Few::None => &mut [],
            Few::One(x) => std::slice::from_mut(x),
            Few::Many(b) => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_heap_use_follow_the_count() {
        let zero: Few<u32> = Few::from_fn(0, || 7);
        let one: Few<u32> = Few::from_fn(1, || 7);
        let mut three: Few<u32> = Few::from_fn(3, || 7);
        assert_eq!((zero.len(), one.len(), three.len()), (0, 1, 3));
        assert_eq!((one.heap_bytes(), three.heap_bytes()), (0, 12));
        three[2] = 9;
        assert_eq!(&three[..], &[7, 7, 9]);
    }
}

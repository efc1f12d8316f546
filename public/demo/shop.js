/* Tea & Kettle demo shop: a tiny cart in localStorage. No analytics here
   beyond handing the purchase to Sonde's own public API on thanks.html. */
(function () {
  'use strict';
  var KEY = 'demo-shop:cart';
  var PRODUCTS = {
    kettle: { name: 'Copper kettle', price: 39.00 },
    teapot: { name: 'Stoneware teapot', price: 28.50 },
    mug: { name: 'Enamel mug', price: 12.00 }
  };

  function load() {
    try {
      var cart = JSON.parse(localStorage.getItem(KEY) || '[]');
      return Array.isArray(cart) ? cart.filter(function (s) { return PRODUCTS.hasOwnProperty(s); }) : [];
    } catch (e) { return []; }
  }
  function save(cart) {
    try { localStorage.setItem(KEY, JSON.stringify(cart)); } catch (e) { /* storage unavailable */ }
  }
  function total(cart) {
    var sum = cart.reduce(function (acc, s) { return acc + PRODUCTS[s].price; }, 0);
    return Math.round(sum * 100) / 100;
  }
  function showCount(cart) {
    var els = document.querySelectorAll('[data-cart-count]');
    for (var i = 0; i < els.length; i++) els[i].textContent = String(cart.length);
  }

  document.addEventListener('click', function (ev) {
    var btn = ev.target.closest ? ev.target.closest('button[data-add-to-cart]') : null;
    if (!btn) return;
    var slug = btn.getAttribute('data-add-to-cart');
    if (!PRODUCTS.hasOwnProperty(slug)) return;
    var cart = load();
    cart.push(slug);
    save(cart);
    showCount(cart);
  });

  var cart = load();
  var page = document.body.getAttribute('data-page');

  if (page === 'cart') {
    var list = document.getElementById('cart-items');
    cart.forEach(function (slug) {
      var li = document.createElement('li');
      li.textContent = PRODUCTS[slug].name + ' \u2014 \u20ac' + PRODUCTS[slug].price.toFixed(2);
      list.appendChild(li);
    });
    document.getElementById('cart-total').textContent = total(cart).toFixed(2);
    var empty = document.querySelector('[data-cart-empty]');
    if (empty) empty.hidden = cart.length > 0;
  }

  if (page === 'thanks') {
    // Read the order before clearing the cart.
    var items = cart.length;
    var sum = total(cart);
    save([]);
    cart = [];
    // Only report a real order: reloading this page must not count it twice.
    if (items > 0) {
      var sonde = (window.sonde = window.sonde || []);
      if (typeof sonde.track === 'function') sonde.track('purchase', { items: items }, sum);
      else sonde.push(['track', 'purchase', { items: items }, sum]);
    }
  }

  showCount(cart);
})();

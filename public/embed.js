/*
 * Fairslot embed: puts the booking app into a partner's page.
 *
 *   <div data-fairslot data-hospital="h1" data-department="h1-cardio" data-lang="en"
 *        data-channel="partner-a" data-brand="#7b2cbf" data-radius="4px"></div>
 *   <script src="https://booking.example/embed.js" async></script>
 *
 * Each element with `data-fairslot` gets an iframe of the app (from the origin this script came
 * from), sized to the app's height as it changes. The app's messages are re-sent on the element
 * as DOM events named `fairslot:ready`, `fairslot:resized`, `fairslot:route`,
 * `fairslot:booking-confirmed` and `fairslot:booking-failed` (the message is `event.detail`).
 * `element.fairslot.setTheme({ brand, radius, font })` restyles the app (kept until it is ready).
 * Elements added later are mounted with `FairslotEmbed.mount(element)`.
 * Messages are exchanged with the app's origin only, and only with that iframe's window.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) return;
  var appOrigin = new URL(script.src).origin;
  var ATTRIBUTES = ['hospital', 'department', 'lang', 'channel', 'brand', 'radius', 'font'];

  function mount(el) {
    if (el.fairslot) return;
    var params = new URLSearchParams();
    ATTRIBUTES.forEach(function (name) {
      var value = el.getAttribute('data-' + name);
      if (value) params.set(name, value);
    });
    var query = params.toString();
    var frame = document.createElement('iframe');
    frame.src = appOrigin + '/' + (query ? '?' + query : '');
    // The frame's name for screen readers, in the language the app opens in.
    var chinese = /^zh/i.test(el.getAttribute('data-lang') || document.documentElement.lang || '');
    frame.title = el.getAttribute('data-title') || (chinese ? '医院预约挂号' : 'Hospital appointment booking');
    frame.style.cssText = 'display:block;width:100%;border:0;height:640px';
    // The app checks which page frames it; the referrer's origin tells it where browsers do not.
    frame.referrerPolicy = 'origin';
    el.appendChild(frame);
    var ready = false;
    var waiting = [];
    function post(message) {
      if (ready) frame.contentWindow.postMessage(message, appOrigin);
      else waiting.push(message);
    }

    window.addEventListener('message', function (event) {
      if (event.origin !== appOrigin || event.source !== frame.contentWindow) return;
      var m = event.data;
      if (!m || m.source !== 'fairslot' || m.version !== 1 || typeof m.type !== 'string') return;
      if (m.type === 'ready') {
        ready = true;
        waiting.splice(0).forEach(post);
      }
      if (m.type === 'resized' && typeof m.height === 'number' && m.height > 0) {
        frame.style.height = Math.ceil(m.height) + 'px';
      }
      el.dispatchEvent(new CustomEvent('fairslot:' + m.type, { detail: m, bubbles: true }));
    });

    el.fairslot = {
      frame: frame,
      setTheme: function (theme) {
        post({ source: 'fairslot-host', version: 1, type: 'theme', theme: theme });
      },
    };
  }

  function mountAll() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-fairslot]'), mount);
  }
  window.FairslotEmbed = { mount: mount };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mountAll);
  else mountAll();
})();
